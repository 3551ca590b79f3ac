"""kume's contracts: the columns of every input and output table, the run's parameters and the
provinces its form offers, and how names written differently are matched. The ground floor: it
imports nothing of ours and reads no file at import (``tests/test_layers.py``)."""
