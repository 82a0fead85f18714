"""Campaigns: issues of a newsletter, written in Markdown and sent to its readers."""
