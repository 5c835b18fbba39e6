"""One class's shared state in an SQLite database (standard library), safe for several server processes at once.

Why SQLite: `make class PROCESSES=N` runs N Streamlit processes, each with its own memory; the teacher's view must
count every student's answer whichever process served it. SQLite in WAL mode lets those processes write at once
(each write a short transaction; a writer waits up to `BUSY_MS` for another), survives a server restart (it is a
file in the folder `make class` prints) and needs no server of its own.

What it holds, per student (an opaque id, of the browser or else the session; never a name unless the student
types a nickname):
the answer to each lesson question, the latest Prune setting (where the threshold is and the error it gives),
and one challenge entry. The teacher's secret token is kept here too, so that the printed teacher's link still
works after a restart; `reset` wipes the class and keeps the token.

Bounded: at most `MAX_STUDENTS` students (a write from one more is refused in words), one row per student and
question, one place and one entry per student, nicknames of at most `NICKNAME_CHARS` plain characters.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from scgru_core.errors import ClassroomError

FILE = "class.sqlite3"
BUSY_MS = 5000  # a writer waits this long for another process's transaction (each takes about a millisecond)
MAX_STUDENTS = 300
NICKNAME_CHARS = 24
NICKNAME = re.compile(r"^[\w .'-]{1,%d}$" % NICKNAME_CHARS)  # letters and digits of any script, space, . ' - _
ACTIVE_S = 15 * 60  # a place older than this is a student who left

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS students (student TEXT PRIMARY KEY, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (student TEXT NOT NULL, question TEXT NOT NULL, choice INTEGER NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (student, question));
CREATE TABLE IF NOT EXISTS places (student TEXT PRIMARY KEY, model TEXT NOT NULL, sparsity REAL NOT NULL,
    error REAL NOT NULL, setting TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entries (student TEXT PRIMARY KEY, challenge INTEGER NOT NULL, nickname TEXT NOT NULL,
    sparsity REAL NOT NULL, score REAL NOT NULL, setting TEXT NOT NULL, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class Challenge:
    """What the teacher asks for: at least `min_sparsity` of the in-scope weights cut, the lowest test RMSE after
    one fine-tune of `epochs` epochs. `number` tells one challenge's entries from the next one's."""

    min_sparsity: float = 0.9
    epochs: int = 1
    number: int = 1

    def __post_init__(self):
        if not 0.0 <= self.min_sparsity < 1.0:
            raise ClassroomError(f"the challenge's sparsity must be from 0% to 99%, not {self.min_sparsity:.0%}")
        if not 1 <= self.epochs <= 20:
            raise ClassroomError(f"the challenge's fine-tune must be 1 to 20 epochs, not {self.epochs}")

    def check(self, sparsity: float) -> None:
        """ClassroomError unless an entry at this in-scope sparsity meets the challenge."""
        if sparsity + 1e-9 < self.min_sparsity:
            raise ClassroomError(f"the challenge asks for {self.min_sparsity:.0%} sparsity or more; this setting cuts "
                                 f"{sparsity:.1%}: raise the threshold s or the target sparsity on the Prune page")

    def describe(self) -> str:
        return (f"at {self.min_sparsity:.0%} sparsity or more, the lowest test RMSE after one fine-tune of "
                f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")


@dataclass(frozen=True)
class Place:
    """Where one student's threshold is: the in-scope sparsity and test error it gives, on which model."""

    model: str
    sparsity: float
    error: float
    setting: str


@dataclass(frozen=True)
class Entry:
    """A challenge entry as the server computed it (never as a browser sent it)."""

    nickname: str
    sparsity: float
    score: float  # test RMSE after the fine-tune, in the data's units
    setting: str


def check_nickname(name: str) -> str:
    """The nickname as shown (spaces trimmed), or ClassroomError saying what is wrong with it: it is shown on the
    projector as plain text, so only letters, digits, spaces and . ' - _ are taken."""
    name = " ".join(str(name).split())
    if not name:
        raise ClassroomError("choose a nickname first (the leaderboard shows it, not your name)")
    if len(name) > NICKNAME_CHARS:
        raise ClassroomError(f"a nickname has at most {NICKNAME_CHARS} characters; this one has {len(name)}")
    if not NICKNAME.match(name):
        raise ClassroomError("a nickname takes letters, digits, spaces and . ' - _ only")
    return name


class ClassRoom:
    """The class kept in `folder` (created if missing). Every method is one short transaction of its own, so any
    number of processes and threads may call them at once."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / FILE
            with sqlite3.connect(self.path, timeout=BUSY_MS / 1000) as db:
                db.execute("PRAGMA journal_mode=WAL")  # kept by the file: every later connection reads it so
                db.executescript(SCHEMA)
            with self._db() as db:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('token', ?)", (secrets.token_urlsafe(18),))
        except (OSError, sqlite3.Error) as exc:
            raise ClassroomError(f"the class's database in {self.folder} cannot be opened ({exc}); start the class "
                                 "with a folder this user can write") from exc

    @contextmanager
    def _db(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: IMMEDIATE for a write (it takes the write lock at once, so two writers never deadlock
        on an upgrade), deferred for a read (in WAL a reader takes no lock a writer waits for)."""
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000, isolation_level=None)
        try:  # WAL (set once, kept by the file): readers never wait for a writer
            db.execute("PRAGMA synchronous=NORMAL")  # in WAL: a commit survives a crash of the server process
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:  # a database locked past BUSY_MS, a full disk: said, never a traceback
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise ClassroomError(f"the class's database did not answer ({exc}); try again in a moment") from exc
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # ------------------------------------------------------------------ the teacher's token

    @property
    def token(self) -> str:
        with self._db(write=False) as db:
            return db.execute("SELECT value FROM meta WHERE key = 'token'").fetchone()[0]

    def is_teacher(self, token: object) -> bool:
        """Whether `token` is the teacher's (a constant-time comparison: a guess learns nothing from the time)."""
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.token.encode())

    # ------------------------------------------------------------------ students

    def _seen(self, db: sqlite3.Connection, student: str) -> None:
        """Count `student` in, or refuse one more than MAX_STUDENTS (the database stays bounded)."""
        now = time.time()
        if db.execute("UPDATE students SET seen = ? WHERE student = ?", (now, student)).rowcount:
            return
        if db.execute("SELECT COUNT(*) FROM students").fetchone()[0] >= MAX_STUDENTS:
            raise ClassroomError(f"this class is full ({MAX_STUDENTS} students); the teacher's reset starts a new one")
        db.execute("INSERT INTO students VALUES (?, ?)", (student, now))

    def answer(self, student: str, question: str, choice: int) -> None:
        """The student's answer to a question (a new answer replaces the student's earlier one)."""
        with self._db() as db:
            self._seen(db, student)
            db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)", (student, question, int(choice),
                                                                              time.time()))

    def counts(self, question: str, choices: int) -> list[int]:
        """How many students chose each of `choices` options (anonymous)."""
        counts = [0] * choices
        with self._db(write=False) as db:
            for choice, n in db.execute("SELECT choice, COUNT(*) FROM answers WHERE question = ? GROUP BY choice",
                                        (question,)):
                if 0 <= choice < choices:
                    counts[choice] = n
        return counts

    def place(self, student: str, place: Place) -> None:
        """Where the student's threshold is now."""
        with self._db() as db:
            self._seen(db, student)
            db.execute("INSERT OR REPLACE INTO places VALUES (?, ?, ?, ?, ?, ?)",
                       (student, place.model, place.sparsity, place.error, place.setting, time.time()))

    def places(self, active_s: float = ACTIVE_S) -> list[Place]:
        """Every student's place set within the last `active_s` seconds."""
        with self._db(write=False) as db:
            rows = db.execute("SELECT model, sparsity, error, setting FROM places WHERE at >= ? ORDER BY at",
                              (time.time() - active_s,)).fetchall()
        return [Place(*row) for row in rows]

    # ------------------------------------------------------------------ what the teacher shows

    def _get(self, key: str) -> str | None:
        with self._db(write=False) as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _put(self, key: str, value: str | None) -> None:
        with self._db() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def revealed(self) -> set[str]:
        """The questions whose class answers the teacher has revealed (students see the counts under theirs)."""
        return set(json.loads(self._get("revealed") or "[]"))

    def reveal(self, question: str, shown: bool = True) -> None:
        with self._db() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'revealed'").fetchone()
            now = set(json.loads(row[0])) if row else set()
            now = now | {question} if shown else now - {question}
            db.execute("INSERT OR REPLACE INTO meta VALUES ('revealed', ?)", (json.dumps(sorted(now)),))

    # ------------------------------------------------------------------ the challenge

    def challenge(self) -> Challenge | None:
        """The challenge running now, if the teacher started one."""
        text = self._get("challenge")
        return None if text is None else Challenge(**json.loads(text))

    def start_challenge(self, min_sparsity: float, epochs: int) -> Challenge:
        """A new challenge: the previous one's entries leave the leaderboard."""
        with self._db() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'challenges'").fetchone()
            number = (int(row[0]) if row else 0) + 1
            challenge = Challenge(min_sparsity, epochs, number)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('challenges', ?)", (str(number),))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('challenge', ?)", (json.dumps(asdict(challenge)),))
        return challenge

    def end_challenge(self) -> None:
        """No challenge running (its leaderboard stays until the next one starts or the class is reset)."""
        self._put("challenge", None)

    def enter(self, student: str, challenge: Challenge, entry: Entry) -> None:
        """The student's entry to `challenge` (a later one replaces it), refused when the challenge is no longer the
        one running or the entry does not meet it."""
        running = self.challenge()
        if running is None or running.number != challenge.number:
            raise ClassroomError("this challenge has ended: the teacher's new one is in the sidebar")
        challenge.check(entry.sparsity)
        nickname = check_nickname(entry.nickname)
        with self._db() as db:
            self._seen(db, student)
            db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (student, challenge.number, nickname, entry.sparsity, entry.score, entry.setting, time.time()))

    def leaderboard(self, number: int | None = None) -> list[Entry]:
        """The entries of challenge `number` (the latest one by default), lowest score first."""
        with self._db(write=False) as db:
            if number is None:
                row = db.execute("SELECT value FROM meta WHERE key = 'challenges'").fetchone()
                number = int(row[0]) if row else 0
            rows = db.execute("SELECT nickname, sparsity, score, setting FROM entries WHERE challenge = ? "
                              "ORDER BY score, at", (number,)).fetchall()
        return [Entry(*row) for row in rows]

    def size(self) -> dict[str, int]:
        """Rows per table: what the class holds now."""
        with self._db(write=False) as db:
            return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
                    for t in ("students", "answers", "places", "entries")}

    def reset(self) -> None:
        """Wipe the class for the next one: answers, places, entries, the challenge and what was revealed. The
        teacher's token stays, so the teacher's link still opens the teacher's view."""
        with self._db() as db:
            for table in ("students", "answers", "places", "entries"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
            db.execute("DELETE FROM meta WHERE key != 'token'")
        db = sqlite3.connect(self.path, timeout=BUSY_MS / 1000)
        try:
            db.execute("VACUUM")  # the file shrinks back: nothing of the last class is left on disk
        finally:
            db.close()


def front(places: list[Place]) -> list[Place]:
    """The students' Pareto front: every place that no other place beats on both counts (at least as sparse and at
    most as wrong, better on one), by sparsity."""
    best: list[Place] = []
    for p in sorted(places, key=lambda p: (-p.sparsity, p.error)):
        if not best or p.error < best[-1].error:
            best.append(p)
    return sorted(best, key=lambda p: p.sparsity)
