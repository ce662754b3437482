"""The storage API by aggregate; :class:`server.storage.repository.Repository` is their union."""
