# renamed.sh (inside the sandbox): the chain's middle link replaced by a rename
# (`mv -T hop2 hop`) instead of rm + ln.
ln -s draft hop && ln -s hop .env && ln -s notes.txt hop2 && mv -T hop2 hop && echo "agent: .env -> $(readlink .env) -> $(readlink hop)"
touch ./linked
exec ./waitread 127.0.6.6 notes.txt
