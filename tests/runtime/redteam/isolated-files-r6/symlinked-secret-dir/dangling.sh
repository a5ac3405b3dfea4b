# dangling.sh (inside the sandbox): a dangling secret-named link in the workspace,
# `.env -> notes.txt`; the user's later `.env` lands in notes.txt.
ln -s notes.txt .env && echo "agent: .env -> $(readlink .env)"
touch ./linked
exec ./waitread 127.0.6.6 notes.txt
