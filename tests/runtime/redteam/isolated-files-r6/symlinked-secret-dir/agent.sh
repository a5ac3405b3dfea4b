# agent.sh (inside the sandbox): moves the Hugging Face cache (no token in it yet)
# aside, leaves a symlink in its place (every tool keeps working), then waits for
# the token the user's `huggingface-cli login` will write through the link.
set -u
mv ~/.cache/huggingface ~/.cache/hf-real && ln -s hf-real ~/.cache/huggingface && echo "agent: ~/.cache/huggingface -> $(readlink ~/.cache/huggingface)"
touch ./linked
exec ./waitread 127.0.6.6 $HOME/.cache/hf-real/token
