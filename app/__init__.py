"""The planners' what-if web app (Streamlit): ``python optimise.py app [--port N]``.

``streamlit_app`` is the page, thin over the engine; ``tables`` turns scenarios into
editable tables and back; ``versions`` keeps saved scenario versions in the app's data
folder; ``uploads`` reads uploaded files safely; ``changes`` lists what differs between
two scenarios; ``views`` shapes results into tables and sentences; ``fixes`` finds the
nearest plan that works after an impossible edit; ``exports`` turns results into CSV and
Excel downloads.
"""
