"""Browser tests: the dashboard and the widget in a real headless Chromium."""
