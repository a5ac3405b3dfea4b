# control.sh (inside the sandbox): no link; waits for the token where it is written.
touch ./linked
exec ./waitread 127.0.6.6 $HOME/.cache/huggingface/token
