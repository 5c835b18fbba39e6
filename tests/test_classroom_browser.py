"""A class in a real Chromium: the teacher's link opens the Class page and leaves the address bar; two students
answer, set thresholds and enter a challenge from browsers of their own, and the projected page follows live; an
edited link reaches nothing. Also Play and asking a heatmap cell, where only a browser can press and click.
Screenshots in artifacts/ (1600x1000, the projector; 1280x800, a laptop)."""
from __future__ import annotations

import re
import urllib.parse

from browser_support import ARTIFACTS, streamlit_server, wait_for_app, wait_for_charts
from scgru_core.classroom.room import ClassRoom

PROJECTOR = {"width": 1600, "height": 1000}
LAPTOP = {"width": 1280, "height": 800}


def metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has_text=label).first
    return box.get_by_test_id("stMetricValue").inner_text()


def answer(page, url: str, choice: str) -> None:
    page.goto(f"{url}/lesson")
    wait_for_app(page, timeout=120_000)
    page.get_by_test_id("stRadio").filter(has_text="What happens to the number of training windows") \
        .get_by_text(choice).click()
    wait_for_app(page)


def to_prune(page, percent: int) -> None:
    """Within the student's session (a reload would be a new student): the sidebar's Prune link, then a typed
    target sparsity, whose s the page finds."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Prune").click()
    wait_for_app(page, timeout=120_000)
    box = page.get_by_role("spinbutton", name="Target sparsity (%)")
    box.fill(str(percent))
    box.press("Enter")
    wait_for_app(page)


def test_a_class_answers_and_the_projector_follows(browser, tmp_path):
    room = ClassRoom(tmp_path)
    with streamlit_server("classroom", env={"SCGRU_CLASS_DIR": str(tmp_path)}) as url:
        teacher = browser.new_context(viewport=PROJECTOR).new_page()
        teacher.goto(f"{url}/class?token={room.token}")
        wait_for_app(teacher, timeout=120_000)
        teacher.get_by_role("heading", name="Class").first.wait_for()
        address = urllib.parse.urlsplit(teacher.url)
        assert address.path == "/class" and "token" not in urllib.parse.parse_qs(address.query)  # off the projector
        assert metric(teacher, "Answers so far") == "0"

        students = [browser.new_context(viewport=LAPTOP).new_page() for _ in range(2)]
        answer(students[0], url, "It halves")
        answer(students[1], url, "It drops only slightly (by 48)")
        teacher.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => m.innerText.includes('Answers so far') && m.innerText.includes('2'))""", timeout=10_000)
        assert room.counts("task", 4) == [1, 1, 0, 0]
        answer(students[0], url, "It doubles")  # a reload is the same student: the answer replaces, not adds
        assert room.counts("task", 4) == [0, 1, 1, 0] and room.size()["students"] == 2

        teacher.get_by_text("Reveal the answers").click()  # the counts on the projector and on the students' pages
        teacher.locator(".st-key-class_answers, [data-testid='stPlotlyChart']").first.wait_for(timeout=10_000)
        students[0].get_by_text("How the class answered").wait_for(timeout=15_000)  # without a click of theirs
        teacher.screenshot(path=str(ARTIFACTS / "class_teacher_1600.png"))
        students[0].screenshot(path=str(ARTIFACTS / "class_student_1280.png"))

        for i, page in enumerate(students):  # each sets a sparsity on the Prune page: a dot on the teacher's chart
            to_prune(page, 60 + 32 * i)  # the second one at 92%, for the challenge
        teacher.wait_for_function("""() => [...document.querySelectorAll('.legendtext')]
            .some(t => t.textContent === 'students (2)')""", timeout=10_000)
        assert sorted(round(p.sparsity, 2) for p in room.places()) == [0.6, 0.92]

        teacher.get_by_role("button", name="Start the challenge").click()  # 90% or more, one fine-tune epoch
        wait_for_app(teacher)
        for page in students:  # the sidebar shows it on their next run
            page.get_by_role("link", name="Lesson").click()
            wait_for_app(page)
        player = students[1]
        player.get_by_label("Nickname").fill("Ada <b>x</b>")
        player.get_by_role("button", name="Enter with my Prune setting").click()
        wait_for_app(player, timeout=120_000)
        assert "letters, digits" in player.get_by_test_id("stSidebar").inner_text()
        player.get_by_label("Nickname").fill("Ada")
        player.get_by_role("button", name="Enter with my Prune setting").click()
        wait_for_app(player, timeout=120_000)
        assert re.search(r"Entered: test RMSE [\d,.]+ after fine-tuning; 1st of 1", player.inner_text("body"))
        students[0].get_by_label("Nickname").fill("Bo")
        students[0].get_by_role("button", name="Enter with my Prune setting").click()  # 60%: refused in words
        wait_for_app(students[0])
        assert "asks for 90% sparsity or more" in students[0].get_by_test_id("stSidebar").inner_text()
        teacher.get_by_test_id("stDataFrame").first.wait_for(timeout=10_000)
        (entry,) = room.leaderboard()
        assert entry.nickname == "Ada" and entry.sparsity >= 0.9
        teacher.set_viewport_size(PROJECTOR)
        teacher.get_by_test_id("stMain").evaluate("e => e.scrollTo(0, 0)")
        teacher.screenshot(path=str(ARTIFACTS / "class_teacher_board_1600.png"), full_page=True)

        intruder = browser.new_context(viewport=LAPTOP).new_page()  # a student edits the link
        for link in (f"{url}/class", f"{url}/class?token=guess", f"{url}/class?token={room.token}x"):
            intruder.goto(link)
            wait_for_app(intruder, timeout=120_000)
            assert intruder.get_by_text("Reveal the answers").count() == 0
            assert intruder.get_by_role("button", name="Start the challenge").count() == 0
            assert "Class" not in intruder.get_by_test_id("stSidebarNav").inner_text()


def test_play_moves_the_threshold_and_a_heatmap_cell_answers(browser):
    with streamlit_server("play_and_ask") as url:
        page = browser.new_context(viewport=PROJECTOR).new_page()
        page.goto(f"{url}/prune?tab=Heatmaps")
        wait_for_app(page, timeout=120_000)
        wait_for_charts(page)
        slider = page.get_by_test_id("stSlider").filter(has_text="Threshold").first
        start = slider.get_by_test_id("stSliderThumbValue").inner_text()
        page.get_by_role("button", name="Play").click()
        playing = page.get_by_test_id("stProgress").filter(has_text="(playing)")
        playing.wait_for(timeout=30_000)  # the slider, shown as its value and a bar while it plays
        page.wait_for_function("""(start) => {  // two frames on, however busy the machine (a frame every 0.5 s)
            const bar = [...document.querySelectorAll('[data-testid="stProgress"]')]
                .find(b => b.innerText.includes('(playing)'));
            const m = bar && bar.innerText.match(/: ([0-9.]+)/);
            return m && parseFloat(m[1]) >= start + 0.39; }""", arg=float(start), timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "play_prune_1600.png"))
        page.get_by_role("button", name="Pause").click()
        wait_for_app(page)
        held = slider.get_by_test_id("stSliderThumbValue").inner_text()  # the slider back, at the frame
        frames = round((float(held) - float(start)) / 0.2, 6)
        assert frames >= 2 and abs(frames - round(frames)) < 1e-6, (start, held)  # whole frames of 0.2
        page.wait_for_timeout(1_500)
        assert slider.get_by_test_id("stSliderThumbValue").inner_text() == held  # Pause holds it

        wait_for_charts(page)
        # the cell of unit 5, column 7 of the first gate: its centre in pixels from plotly's own axes
        x, y = page.evaluate("""() => {
            const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p._fullLayout.xaxis);
            const xa = plot._fullLayout.xaxis, ya = plot._fullLayout.yaxis, box = plot.getBoundingClientRect();
            return [box.left + xa._offset + xa.l2p(7), box.top + ya._offset + ya.l2p(5)]; }""")
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        card = page.locator(".st-key-asked_weight")
        card.wait_for(timeout=15_000)
        text = card.inner_text()
        assert "reset gate r · unit 5, hidden unit 7" in text, text
        assert re.search(r"SCGRU cuts it from\s+(s = [\d.]+|never)", text)
        page.screenshot(path=str(ARTIFACTS / "heatmap_asked_1600.png"))

        # the training replayed: the shipped model's epochs, played and paused on the Train page
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train").click()
        wait_for_app(page, timeout=120_000)
        page.get_by_role("button", name="Play").click()
        page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stProgress"]')]
            .some(b => /Epoch [2-9]/.test(b.innerText) && b.innerText.includes('(playing)'))""", timeout=60_000)
        page.get_by_role("button", name="Pause").click()
        page.get_by_role("button", name="Play").wait_for(timeout=30_000)
        epoch = int(page.get_by_test_id("stSlider").filter(has_text="Epoch").get_by_test_id("stSliderThumbValue")
                    .inner_text())
        assert 2 <= epoch <= 15
        assert f"at epoch {epoch} of 15" in page.inner_text("body")
