/* cli/main.c — placeholder entry point until the command table lands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("edxbus %s\n", EDXBUS_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "usage: edxbus --version\n");
    return 2;
}
