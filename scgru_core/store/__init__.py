"""What is kept on disk: run directories and their zip, the shipped dense checkpoints, and the server's uploaded
files."""
