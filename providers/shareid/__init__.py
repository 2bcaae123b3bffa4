"""ShareID: the pull provider (providers/shareid/README.md). Imports nothing, so that the settings
module may read the sandbox's credentials before Django is set up."""
