# Keep the run independent of the caller's plugins and options.
