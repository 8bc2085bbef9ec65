"""The local web page (``realbasicvsr serve``): drop videos, preview a frame before/after, run, download.

``app`` holds the routes and ``security`` the checks every request passes (Host, Origin, token); ``jobs``
owns the job folders, the queue and the worker processes; ``worker`` is what runs in those processes;
``uploads`` streams and checks uploaded files. Needs the ``web`` extra (FastAPI, uvicorn).
"""
