"""The survey conversation: a caller is greeted, asked, re-asked, and the call closed.

Contract: every webhook of a call maps to one function here that commits once and returns what
the caller hears next (a Turn) or nothing (callbacks). Twilio may deliver any webhook twice; each
row has one writer (records.py) that inserts it once. A response that becomes final asks for its
scoring after the commit. The hot path (answers) works on a small state read in one query.
"""
