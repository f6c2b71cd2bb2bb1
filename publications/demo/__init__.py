"""The demo's releases and news releases, which publish the figures of stats.demo."""
