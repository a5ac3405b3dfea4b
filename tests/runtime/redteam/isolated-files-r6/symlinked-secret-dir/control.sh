# control.sh (inside the sandbox): no link; waits for the token where it is written.
touch ./linked
exec ./waitread 127.0.0.1 $HOME/.cache/huggingface/token
