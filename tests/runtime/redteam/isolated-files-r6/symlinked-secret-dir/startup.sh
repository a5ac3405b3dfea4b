# startup.sh (inside the sandbox): the link `.env -> notes.txt` was left by an
# earlier session (it exists when this one starts); waits for notes.txt.
echo "agent: .env -> $(readlink .env) (from before the session)"
touch ./linked
exec ./waitread 127.0.6.6 notes.txt
