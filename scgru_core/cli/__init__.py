"""`python -m scgru_core`: one module per command; plotly is imported only by the commands that draw."""
