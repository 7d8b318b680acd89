"""Fitted estimators and booster files -> kernel arrays (a ``Plan``) and ``compile``."""
