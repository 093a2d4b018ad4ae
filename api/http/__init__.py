"""The HTTP adapter: the FastAPI app, its routes, request and response models, authentication
dependencies, middleware, problem+json answers and the verification web page."""
