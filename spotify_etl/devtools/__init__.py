"""Developer features of the embedded default stack: ``make run``'s pipeline and the HTML report."""
