/** The second secret the worker accepts (rotation), shared by the worker and the specs. */
export const ROTATED_SECRET = 'whsec_next_rotation'
