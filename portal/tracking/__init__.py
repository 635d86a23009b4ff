"""Student tracking: milestones, what is due, reminders, the calendar and the progress report."""
