# straight.sh (inside the sandbox, the control): the same chain made pointing at
# notes.txt from the start: `.env -> hop -> notes.txt`, never retargeted.
ln -s notes.txt hop && ln -s hop .env && echo "agent: .env -> $(readlink .env) -> $(readlink hop)"
touch ./linked
exec ./waitread 127.0.6.6 notes.txt
