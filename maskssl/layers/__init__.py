"""Building blocks every plugin may reuse: visible-token gather / scatter (``visible``), MAE's weight
initialisation (``init``), and the online probe's head (``probe_head``)."""
