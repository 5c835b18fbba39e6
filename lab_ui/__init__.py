"""Streamlit-only helpers shared by app.py and the pages (session state, loaders, warm-up, sidebar)."""
