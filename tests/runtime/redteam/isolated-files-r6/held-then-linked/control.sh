# control.sh (inside the sandbox): the same, but notes.txt is opened after the link.
echo draft > notes.txt
ln -s notes.txt .env && echo "agent: .env -> $(readlink .env)"
exec 3< notes.txt
touch ./linked
exec ./fdsend 127.0.0.1 3
