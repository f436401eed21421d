"""Terminal presentation: consoles, LaTeX to Unicode, and the views commands render with."""
