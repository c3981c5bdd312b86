// The namespace and veth helpers live with the test bed (tools/testbed), which the
// `npm start` demo uses at runtime; tests import them from here as before.
export * from '../../tools/testbed/netns';
