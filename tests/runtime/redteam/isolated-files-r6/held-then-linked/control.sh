# control.sh (inside the sandbox): the same link, but notes.txt is opened (by path)
# only after it: PRE first, then the open meets the tripwire and taints.
echo draft > notes.txt
ln -s notes.txt .env && echo "agent: .env -> $(readlink .env)"
touch ./linked; sleep 2
exec ./readsend 127.0.6.6 plain notes.txt
