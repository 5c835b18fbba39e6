"""The server's shared runtime, no Streamlit: the model cache, the training line, the snapshot cache, and background
threads that end cleanly."""
