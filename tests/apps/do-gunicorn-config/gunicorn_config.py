# Named on the command line with --config (it is not gunicorn.conf.py, the default name).
bind = "0.0.0.0:8080"
workers = 2
