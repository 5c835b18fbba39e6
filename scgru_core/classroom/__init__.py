"""A class taught from one server: the state every student's session shares with the teacher's view (answers,
where the thresholds are, a challenge and its leaderboard), kept in SQLite so that every server process of
`make class PROCESSES=N` reads and writes the same class. No Streamlit."""
