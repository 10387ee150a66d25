import gc

from ivr import create_app

app = create_app()
# What start-up built lives as long as the process: out of the collector's way, so that a full
# collection does not walk it again in the middle of a request (it cost a dashboard 75 ms).
gc.freeze()
