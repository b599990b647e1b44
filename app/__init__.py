"""The planners' what-if web app (Streamlit): ``python optimise.py app [--port N]``.

``streamlit_app`` is the page, thin over the engine; ``session`` holds the session's
actions (load, edit, solve, save); ``edit_form`` draws the edit boxes and tables;
``panels`` draws the result tabs; ``tables`` turns scenarios into editable tables and
back; ``versions`` keeps saved scenario versions in the app's data folder; ``uploads``
reads uploaded files safely; ``changes`` lists what differs between two scenarios;
``views`` shapes results into tables and sentences; ``members`` draws the coalition tab;
``exports`` turns results into CSV and Excel downloads.
"""
