/* placeholder until the CLI lands */
#include <stdio.h>
int main(void)
{
    fputs("authncontext-verify: not built yet\n", stderr);
    return 2;
}
