/*
 * fuzz_structure.c - libFuzzer target for anc_structure_check().
 *
 * In the verifier the schema check runs only after a signature has
 * verified, so fuzz_response reaches it only through the unsigned parts
 * of a response. Here any document that parses (anc_xml_parse, the same
 * caps) goes to the check directly: the compiled schema shared across
 * inputs must come out unchanged, and every verdict must be a clean one.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include "fuzz_common.h"
#include "anc_structure.h"
#include "anc_xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_library();
    fuzz_init_done();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    anc_error_t *err = NULL;
    xmlDocPtr doc = NULL;
    anc_status_t rc;

    if (apr_pool_create(&p, fuzz_global_pool) != APR_SUCCESS)
        abort();
    if (anc_xml_parse(p, (const char *)data, size, 0, 64, &doc, &err) == ANC_OK) {
        rc = anc_structure_check(p, xmlDocGetRootElement(doc), &err);
        /* the contract: accepted, or refused with a reason and a detail */
        if (rc != ANC_OK && rc != ANC_E_XML_SCHEMA)
            abort();
        if (rc != ANC_OK && (err == NULL || err->code != rc || err->detail == NULL))
            abort();
    }
    apr_pool_destroy(p);
    return 0;
}
