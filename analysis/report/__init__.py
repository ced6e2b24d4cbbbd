"""``tribar report``: one filter's analytics figures, as a terminal view and an HTML page."""
