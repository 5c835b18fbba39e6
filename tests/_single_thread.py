"""One torch thread for tests of tiny models: they run fastest on one, and many times faster than
on two when the machine's cores are shared. Import `single_thread` into a test module to use it."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
