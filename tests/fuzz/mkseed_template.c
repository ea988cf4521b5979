/*
 * mkseed_template.c - writes DIR/<page>.html seeds for fuzz_template: the
 * page id byte followed by the built-in template (the core's own text, the
 * only faithful source of the markup the parser is meant to accept).
 */
#include <stdio.h>
#include <string.h>
#include "anc_page.h"

int main(int argc, char **argv)
{
    int id;

    if (argc != 2) {
        fprintf(stderr, "usage: mkseed_template DIR\n");
        return 2;
    }
    for (id = 0; id < ANC_PAGE__COUNT; id++) {
        char path[4096];
        unsigned char b = (unsigned char)id;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", argv[1], anc_page_file(id));
        if (!(f = fopen(path, "wb")) || fwrite(&b, 1, 1, f) != 1 ||
            fwrite(anc_page_builtin(id), 1, strlen(anc_page_builtin(id)), f) !=
                strlen(anc_page_builtin(id)) ||
            fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    return 0;
}
