"""Files for the ASGI rows of test_file_responses: ``FILES_DIR`` names the folder."""

import os
import pathlib

from conduit import Conduit, FileResponse

FOLDER = pathlib.Path(os.environ.get("FILES_DIR", "."))
app = Conduit()


@app.get("/file/{name}")
async def file(name: str):
    return FileResponse(FOLDER / name)


@app.get("/shrunk/{name}")
async def shrunk(name: str):
    response = FileResponse(FOLDER / name)  # its size is taken here...
    os.truncate(FOLDER / name, 1000)  # ...and the file shrinks before a byte is sent
    return response
