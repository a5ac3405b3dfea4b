# dirswap.sh (inside the sandbox): `.env -> sub/x` with sub a directory; then sub is
# moved away and replaced by a link to other/: the user's `.env` lands in other/x.
mkdir sub other && ln -s sub/x .env && mv sub sub-old && ln -s other sub && echo "agent: .env -> $(readlink .env), sub -> $(readlink sub)"
touch ./linked
exec ./waitread 127.0.6.6 other/x
