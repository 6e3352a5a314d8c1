// placeholder: the Action bundle is built by npm run bundle
