"""Every matplotlib figure gmdesk draws (Agg backend, set once here)."""
