"""The incumbents' behaviour, pinned through their real frameworks and servers."""
