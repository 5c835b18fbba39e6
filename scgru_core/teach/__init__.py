"""What a person sets and reads: the settings table (every user-visible setting, declared once), links that carry
them, the lesson's steps and maths, and "Show code" (the Python that reproduces a state)."""
