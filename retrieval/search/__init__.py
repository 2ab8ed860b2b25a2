"""Search: hybrid fusion over whatever signals the store offers, sentence rescoring, the hits
abstention reads."""
