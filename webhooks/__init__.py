"""The long-running service (Starlette on uvicorn): receivers, Slack endpoints, operations, the e-mail bridge."""
