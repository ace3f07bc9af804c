"""The monorepo's other service: not part of the API's deploy."""

import time

if __name__ == "__main__":
    while True:
        print("tick", flush=True)
        time.sleep(60)
